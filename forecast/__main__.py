from forecast.cli.main import entry

entry()
