#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into an EMPTY database and storage directory, then
# check that every stored file the database refers to is there and intact (storage_verify).
#   DATABASE_URL=postgres://.../new_db MEDIA_ROOT=/new/media deploy/restore.sh BACKUP_DIR
# Exit status: storage_verify's (0 all present and intact, 1 listing what is missing or altered).
set -euo pipefail
cd "$(dirname "$0")/.."
backup=${1:?usage: deploy/restore.sh BACKUP_DIR}
: "${DATABASE_URL:?set DATABASE_URL to the new, empty PostgreSQL database}"
: "${MEDIA_ROOT:?set MEDIA_ROOT to the new storage directory}"
python=${PYTHON:-.venv/bin/python}
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$DATABASE_URL" \
  "$backup/database.dump"
mkdir -p "$MEDIA_ROOT"
tar -C "$MEDIA_ROOT" -xf "$backup/storage.tar"
"$python" manage.py migrate --no-input -v0  # a backup from an older release
exec "$python" manage.py storage_verify
