"""Ways to run the grader beside task folders: --proofswe-diff (diffmode), --proofswe-history
(history, historyitems), stepped tasks (steps), SWE-bench predictions (swebench),
--proofswe-replay (replay), durability; and the decay measures they share (decay, codefacts)."""
