"""``python -m kg``: the command line."""

from kg.cli import exit_process, main

exit_process(main())
