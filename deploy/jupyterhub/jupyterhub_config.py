"""JupyterHub for the course on one Linux machine: Unix accounts, PAM log-in, one server each.

Installed as /etc/jupyterhub/jupyterhub_config.py by deploy/hub/setup-hub.sh and started by the
systemd unit deploy/jupyterhub/jupyterhub.service (docs/jupyterhub.md). Who may log in, and who
teaches, is decided by two Unix groups (deploy/hub/add-account.sh puts accounts in them):

* attention-cv-students: JupyterLab with nbgrader's Assignment List and Validate only;
* attention-cv-instructors: the same plus the formgrader, the course list and Create Assignment.

Every server reads the course's shared nbgrader settings (course id, exchange, per-cell time
limit) from <etc>/jupyter/nbgrader_config.py; students' servers also read
<etc>/jupyter/attention-cv-student/, which turns the instructor tools off. <etc> is the folder
above the one holding this file (/etc for an installation; the hub test installs into a scratch
folder with the same layout). The COURSE_* variables below exist for that test; an installation
keeps the defaults.
"""

import grp
import os
import sys

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file

ETC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDENTS = os.environ.get("COURSE_STUDENTS_GROUP", "attention-cv-students")
INSTRUCTORS = os.environ.get("COURSE_INSTRUCTORS_GROUP", "attention-cv-instructors")

# Where the hub listens (put a TLS-terminating proxy such as nginx or Caddy in front of it).
c.JupyterHub.bind_url = os.environ.get("COURSE_HUB_URL", "http://127.0.0.1:8000")

# Unix accounts and passwords (PAM); only the two course groups may log in.
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {STUDENTS, INSTRUCTORS}

# One JupyterLab per user, run as that user from the course environment (the one running the hub).
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(os.path.dirname(sys.executable), "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
# A class logs in at once at the start of a session: give servers two minutes to start (the
# default 30 s is too short when dozens of servers import their extensions at the same time).
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.env_keep.append("COURSE_EXCHANGE_ROOT")  # passed on to every server when set (the hub test sets it)
# Validate, the visible tests and Day 7 run torch on the CPU: one thread per kernel keeps a class on
# one machine from oversubscribing its cores (a notebook may raise it with torch.set_num_threads).
c.Spawner.environment = {"OMP_NUM_THREADS": "1"}

def course_role(username: str) -> str:
    """'instructor' for members of the instructors' group, else 'student'."""
    try:
        return "instructor" if username in grp.getgrnam(INSTRUCTORS).gr_mem else "student"
    except KeyError:  # the group does not exist: nobody teaches
        return "student"


def pre_spawn_hook(spawner) -> None:
    """Give each server the course's Jupyter configuration for its role.

    Students: the instructor tools off. Instructors: JupyterLab may show the formgrader, which it
    opens in a frame; JupyterHub's single-user servers forbid every frame ("frame-ancestors
    'none'"), which leaves the Formgrader tab blank, so instructors' servers allow frames from
    their own origin (Jupyter Server's own default).
    """
    paths = [os.path.join(ETC, "jupyter")]
    role = course_role(spawner.user.name)
    paths.insert(0, os.path.join(ETC, "jupyter", f"attention-cv-{role}"))
    # A new dict: the configured one is shared by every spawner (servers start concurrently).
    spawner.environment = {**spawner.environment, "JUPYTER_CONFIG_PATH": os.pathsep.join(paths)}


c.Spawner.pre_spawn_hook = pre_spawn_hook
