/-!
# Lemmagraph targets

Root of the `Lemmagraph` library. Each generated target is a standalone file under
`Lemmagraph/Targets/` that imports Mathlib itself and is checked on its own with
`lake env lean <file>`, so this root imports none of them: one broken target must not
stop the others from being checked.
-/
