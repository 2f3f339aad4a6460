-- ferry:batch table=tasks key=id size=1000 pause=10ms
-- Each batch of 1000 tasks in its own short transaction, walked by id: a
-- killed run continues at the next batch and no task is doubled twice
-- (the guide's LIMIT/OFFSET loop over `priority < 6` doubled 2 into 4 and
-- then 4 into 8, and skipped rows as the set shrank).
UPDATE tasks
   SET priority = priority * 2,
       priority_scale = 10
 WHERE id BETWEEN :first AND :last;
