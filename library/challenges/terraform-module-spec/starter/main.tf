# The log-bucket module: see the task for the specification.
