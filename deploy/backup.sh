#!/usr/bin/env bash
# Back up Recepción FE into DEST_DIR: the database (pg_dump), then the private storage (tar).
#   DATABASE_URL=postgres://... MEDIA_ROOT=/var/lib/recepcion/media deploy/backup.sh DEST_DIR
# The database goes first: a stored file is written before the row that names it is committed,
# and names are content-addressed (never rewritten with other bytes), so the storage copied
# afterwards holds every file the dump refers to. Workers and web may keep running.
set -euo pipefail
dest=${1:?usage: deploy/backup.sh DEST_DIR}
: "${DATABASE_URL:?set DATABASE_URL to the PostgreSQL database}"
: "${MEDIA_ROOT:?set MEDIA_ROOT to the storage directory}"
mkdir -p "$dest"
pg_dump --format=custom --no-owner --no-privileges --file="$dest/database.dump" "$DATABASE_URL"
tar -C "$MEDIA_ROOT" -cf "$dest/storage.tar" private
echo "backup written to $dest (database.dump, storage.tar)"
