# Object state changes: the multi-task ChangeIt pipeline.
