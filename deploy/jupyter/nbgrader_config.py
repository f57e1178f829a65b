"""nbgrader settings every account of the course shares: students, graders and instructors.

On a JupyterHub this file is installed as /etc/jupyter/nbgrader_config.py (docs/jupyterhub.md), so
every user's server reads it: the Assignment List finds the course and its exchange, and Validate
runs with the course's time limit. The instructor's course configuration
(autograder/nbgrader_config.py) loads this same file, so each value below is stated once.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when Jupyter or nbgrader loads this file

# The course id (the exchange's folder name; students' Assignment List shows it).
c.CourseDirectory.course_id = "attention-cv"

# The exchange: one folder every account can reach, created once by the administrator
# (`deploy/hub/setup-hub.sh`). COURSE_EXCHANGE_ROOT moves it (the hub test uses a scratch folder).
c.Exchange.root = os.environ.get("COURSE_EXCHANGE_ROOT", "/srv/nbgrader/exchange")

# The per-cell time limit in seconds, the same for a student's Validate, `nbgrader autograde` and
# the batch grader (`python3 manage.py grade`): a cell that runs longer is interrupted and fails.
# The course's cells take seconds; the slowest graded cell (Day 7's training epoch in its quick
# profile) stays well under it. COURSE_CELL_TIMEOUT overrides it for one run.
c.Execute.timeout = int(os.environ.get("COURSE_CELL_TIMEOUT", "120"))
c.Execute.interrupt_on_timeout = True

# On Kubernetes there is no folder every pod shares: the exchange is a JupyterHub service,
# nbexchange, and the pods set COURSE_EXCHANGE=nbexchange (deploy/k8s/values.yaml). Each request
# is authenticated as its user, so a student can reach their own submissions and feedback only.
if os.environ.get("COURSE_EXCHANGE") == "nbexchange":
    for _trait, _plugin in {
        "exchange": "Exchange", "list": "ExchangeList", "release_assignment": "ExchangeReleaseAssignment",
        "fetch_assignment": "ExchangeFetchAssignment", "submit": "ExchangeSubmit", "collect": "ExchangeCollect",
        "release_feedback": "ExchangeReleaseFeedback", "fetch_feedback": "ExchangeFetchFeedback",
    }.items():
        setattr(c.ExchangeFactory, _trait, f"nbexchange.plugin.{_plugin}")
