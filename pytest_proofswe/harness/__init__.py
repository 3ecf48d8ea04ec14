"""The behaviour harness: a throwaway workspace at the base, the patch, the hidden tests, the verdict.

workspace (cached bases, per-submission workspaces), patch (parse, path policy, apply),
guard (what a submission may not change before the tests run), environment (cached
virtual environments), sandbox (bubblewrap around every command that runs submission
code), runner (the test command, JUnit XML), canary, skips, xfailmarks and layout (the
verdict's integrity checks), verdict (outcomes to a status, pure), locking. Processes are
spawned through :mod:`pytest_proofswe.process` (git through :mod:`pytest_proofswe.git`),
which the checks and modes use too. The checks (taste, review) never import it:
they read a change through :mod:`pytest_proofswe.change`.
"""
