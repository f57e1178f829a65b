#!/usr/bin/env bash
# Create course accounts on the hub machine. Run as root:
#
#   deploy/hub/add-account.sh student alice bob carol > passwords.tsv
#   deploy/hub/add-account.sh instructor dana >> passwords.tsv
#
# Each account gets a private home (mode 700: nobody else can read a student's work), joins the
# course group of its role, and a random initial password; one "name<TAB>password" line per
# account is printed. Hand each person theirs; they change it in a JupyterLab terminal (`passwd`).
# COURSE_STUDENTS_GROUP / COURSE_INSTRUCTORS_GROUP: as in setup-hub.sh.
set -euo pipefail

usage() { echo "usage: $0 student|instructor NAME..." >&2; exit 2; }
[ $# -ge 2 ] || usage
case "$1" in
    student) GROUP=${COURSE_STUDENTS_GROUP:-attention-cv-students} ;;
    instructor) GROUP=${COURSE_INSTRUCTORS_GROUP:-attention-cv-instructors} ;;
    *) usage ;;
esac
shift
if [ "$(id -u)" != 0 ]; then
    echo "add-account.sh: run as root (it creates Unix accounts)" >&2
    exit 1
fi
getent group "$GROUP" >/dev/null || { echo "no group $GROUP: run deploy/hub/setup-hub.sh first" >&2; exit 1; }

for name in "$@"; do
    if id "$name" >/dev/null 2>&1; then
        echo "account $name exists already: added to $GROUP, password unchanged" >&2
        usermod -a -G "$GROUP" "$name"
        continue
    fi
    useradd --create-home --shell /bin/bash --groups "$GROUP" -K HOME_MODE=0700 "$name"
    chmod 700 "$(getent passwd "$name" | cut -d: -f6)"  # also where useradd ignores HOME_MODE
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
    echo "$name:$password" | chpasswd
    printf '%s\t%s\n' "$name" "$password"
done
