# Front-end libraries from npm, pinned by package-lock.json; copied into the app image below.
FROM node:20-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY config config
COPY customers customers
COPY churn churn
COPY retention retention
RUN pip install --no-cache-dir .

COPY . .
COPY --from=assets /app/node_modules node_modules
# Build-time only: collectstatic and the translation compiler need settings to load.
RUN SECRET_KEY=build-only python manage.py compile_translations \
 && SECRET_KEY=build-only python manage.py collectstatic --no-input --verbosity 0

RUN useradd --create-home --uid 1000 app && mkdir -p /app/var && chown -R app /app/var
USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000"]
