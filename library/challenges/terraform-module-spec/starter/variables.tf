# Input variables of the module.
