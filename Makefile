# Shortcuts for the README's two commands.
.PHONY: start test

start:
	scripts/start.sh

test:
	scripts/test.sh
