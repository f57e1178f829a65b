#!/usr/bin/env bash
# Set up the course's JupyterHub on one Linux machine. Run as root from the repository root, after
# the course environment is installed (docs/jupyterhub.md, step 1). Idempotent: run it again after
# pulling a new version of the course.
#
# It creates the exchange folder and the two Unix groups, and installs the configuration:
#   <etc>/jupyter/nbgrader_config.py          course id, exchange, per-cell time limit (everyone)
#   <etc>/jupyter/labconfig/page_config.json  no "Jupyter news" prompt (everyone)
#   <etc>/jupyter/attention-cv-student/       turns the instructor tools off in students' servers
#   <etc>/jupyter/attention-cv-instructor/    lets the formgrader show in instructors' JupyterLab
#   <etc>/jupyterhub/jupyterhub_config.py     the hub: PAM log-in, one server per user
#
# Defaults are those of an installation; the hub test (tests/test_hub.py) runs this same script with
# scratch values: COURSE_HUB_ETC (/etc), COURSE_EXCHANGE_ROOT (/srv/nbgrader/exchange),
# COURSE_STUDENTS_GROUP (attention-cv-students), COURSE_INSTRUCTORS_GROUP (attention-cv-instructors).
set -euo pipefail

ETC=${COURSE_HUB_ETC:-/etc}
EXCHANGE=${COURSE_EXCHANGE_ROOT:-/srv/nbgrader/exchange}
STUDENTS=${COURSE_STUDENTS_GROUP:-attention-cv-students}
INSTRUCTORS=${COURSE_INSTRUCTORS_GROUP:-attention-cv-instructors}
DEPLOY=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" != 0 ]; then
    echo "setup-hub.sh: run as root (it creates groups and system folders)" >&2
    exit 1
fi

# The exchange: every account writes into it; nbgrader sets the modes of what it creates inside
# (students can drop submissions into inbound/ but cannot list it).
mkdir -p "$EXCHANGE"
chmod ugo+rwx "$EXCHANGE"

for group in "$STUDENTS" "$INSTRUCTORS"; do
    getent group "$group" >/dev/null || groupadd "$group"
done

install -d -m 755 "$ETC/jupyter" "$ETC/jupyterhub"
rm -rf "$ETC/jupyter/attention-cv-student" "$ETC/jupyter/attention-cv-instructor"
cp -r "$DEPLOY/jupyter/." "$ETC/jupyter/"
chmod -R u=rwX,go=rX "$ETC/jupyter/nbgrader_config.py" "$ETC/jupyter/labconfig" "$ETC/jupyter/attention-cv-student" \
    "$ETC/jupyter/attention-cv-instructor"
install -m 644 "$DEPLOY/jupyterhub/jupyterhub_config.py" "$ETC/jupyterhub/jupyterhub_config.py"
echo "set up: exchange $EXCHANGE, groups $STUDENTS and $INSTRUCTORS, configuration in $ETC/jupyter and $ETC/jupyterhub"
