# Outputs of the module.
