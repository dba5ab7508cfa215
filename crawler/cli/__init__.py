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
discover_commands.py discover
feeds_commands.py    feeds add|list|enable|disable|remove (settings.toml in place)
opml_commands.py     feeds import|export (OPML)
feed_entries.py      found sources as [[feeds]] entries: names, TOML
"""

from crawler.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
