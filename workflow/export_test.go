package workflow

// NamedExecutionID is the ID of the execution of workflow named name.
var NamedExecutionID = executionID
