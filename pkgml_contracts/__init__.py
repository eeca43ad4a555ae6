"""Rules shared by every deployable: stacks, step scripts, Lambdas, the ops CLI, the rehearsal.

Standard library only. The package is copied whole into every Lambda asset and into
every step-code bundle that imports it, so a rule written here is the same rule in the
synthesized templates, in the jobs and in the functions. Tests tie each publisher of a
name or value to its consumer.
"""
