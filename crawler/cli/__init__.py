"""``newsmon``: the command line, a thin layer over the library.

app.py               the parser (one registration per command) and main()
command.py           what a command is; reading the database; finding an article
options.py           command-line values: times and ages, limits, article IDs
render.py            tables, CSV and JSON on standard output
output_file.py       writing a file whole or not at all (export --output)
service_commands.py  run, crawl, check-config
article_commands.py  query, show, history
export_command.py    export
report_commands.py   status, stats
"""

from crawler.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
