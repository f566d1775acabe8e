# Two commands matter (see README):
#   make demo   set up everything on embedded defaults and serve the app on 127.0.0.1:8000
#   make test   set up and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_CUSTOMERS ?= 20000
DEMO_MONTHS ?= 24
HOST ?= 127.0.0.1
PORT ?= 8000
# gunicorn worker processes for the demo (config/gunicorn.py).
WEB_CONCURRENCY ?= 2

.PHONY: demo test setup assets translations lint lock bench-import bench-nightly clean

# Every dependency, direct and indirect, at the version and hashes in the lock file
# (requirements/dev.lock, made from pyproject.toml by `make lock`); then the project
# itself, without resolving anything again.
$(STAMP): pyproject.toml requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP) assets translations

# Front-end libraries (htmx, Chart.js) from npm, pinned by package-lock.json; reinstalled
# when the lock file changes or node_modules is missing.
assets: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

translations: $(STAMP)
	DEBUG=1 $(BIN)/python manage.py compile_translations

var/secret_key:
	mkdir -p var
	$(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret_key

# The demo runs as production does, with DEBUG off (no debug pages), gunicorn and whitenoise,
# on plain http://127.0.0.1.
demo: export LOG_LEVEL ?= WARNING
demo: export ALLOWED_HOSTS ?= 127.0.0.1,localhost
demo: export SECURE_SSL_REDIRECT ?= 0
demo: export SECURE_COOKIES ?= 0
# The daily digests are printed on the console instead of being mailed.
demo: export EMAIL_BACKEND ?= django.core.mail.backends.console.EmailBackend
demo: export SITE_URL ?= http://$(HOST):$(PORT)
demo: setup var/secret_key
	SECRET_KEY="$$(cat var/secret_key)" $(BIN)/python manage.py migrate --no-input
	SECRET_KEY="$$(cat var/secret_key)" $(BIN)/python manage.py collectstatic --no-input --verbosity 0
	SECRET_KEY="$$(cat var/secret_key)" $(BIN)/python manage.py setup_demo --customers $(DEMO_CUSTOMERS) --months $(DEMO_MONTHS) --url http://$(HOST):$(PORT)/
	SECRET_KEY="$$(cat var/secret_key)" GUNICORN_BIND=$(HOST):$(PORT) WEB_CONCURRENCY=$(WEB_CONCURRENCY) \
		$(BIN)/gunicorn --config config/gunicorn.py config.wsgi:application

# DEBUG=1 only lets settings load without a SECRET_KEY; Django's test runner turns DEBUG off.
test: setup
	DEBUG=1 $(BIN)/python -m pytest

# mypy imports the settings (django-stubs): DEBUG=1 lets them load without a SECRET_KEY.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	DEBUG=1 $(BIN)/mypy

# Re-resolve the lock files after a change to the dependencies in pyproject.toml, with uv
# (a dev dependency); installing from the locks needs pip alone.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
		--quiet -o requirements/prod.lock
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
		--extra dev --quiet -o requirements/dev.lock

bench-import: $(STAMP)
	$(BIN)/python benchmarks/import_bench.py

bench-nightly: $(STAMP)
	$(BIN)/python benchmarks/nightly_bench.py

clean:
	rm -rf $(VENV) staticfiles var db.sqlite3
