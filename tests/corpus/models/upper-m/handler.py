"""Never archived or served: a stack naming this model next to `m` is refused first (names differing only in case)."""
