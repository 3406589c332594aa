# The portal's production image: gunicorn for the web, the same image for the Celery worker and beat.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 libpango-1.0-0 libpangoft2-1.0-0 \
       libharfbuzz-subset0 fonts-dejavu-core gettext postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 portal
WORKDIR /app
# Runtime dependencies only, each checked against its hash (scripts/lock.sh writes requirements/prod.txt).
COPY requirements/prod.txt requirements/prod.txt
RUN pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps -r requirements/prod.txt
COPY . .
# The static step is scripts/collectstatic.sh, the same script the tests run (tests/cluster serves from it).
RUN python manage.py compilemessages -v0 && scripts/collectstatic.sh
USER portal
ENV PORTAL_PRODUCTION=1 PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--config", "deploy/gunicorn.conf.py"]
