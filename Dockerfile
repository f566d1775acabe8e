# Front-end libraries from npm, pinned by package-lock.json; copied into the app image below.
FROM node:20-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

# The dependencies first, at the versions and hashes of the production lock file, in a
# layer of their own that a change to the code does not rebuild.
COPY requirements/prod.lock requirements/prod.lock
RUN pip install --no-cache-dir --require-hashes -r requirements/prod.lock

# Then the whole project (.dockerignore keeps .env, databases, var/ and the venv out), and
# the project itself with every app pyproject.toml finds, without resolving anything again.
COPY . .
RUN pip install --no-cache-dir --no-deps .
COPY --from=assets /app/node_modules node_modules
# Build-time only: collectstatic and the translation compiler need settings to load.
RUN SECRET_KEY=build-only python manage.py compile_translations \
 && SECRET_KEY=build-only python manage.py collectstatic --no-input --verbosity 0

RUN useradd --create-home --uid 1000 app && mkdir -p /app/var && chown -R app /app/var
USER app
EXPOSE 8000
# Workers, threads and timeout: config/gunicorn.py (WEB_CONCURRENCY, WEB_THREADS, WEB_TIMEOUT).
CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi:application"]
