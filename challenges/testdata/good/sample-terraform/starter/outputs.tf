# Outputs of this configuration.
