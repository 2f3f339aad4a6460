-- ferry:batch table=tasks key=id size=1000
UPDATE tasks
   SET priority = priority / 2,
       priority_scale = NULL
 WHERE id BETWEEN :first AND :last;
