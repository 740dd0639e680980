package lambda

// Functions are the Lambda entry points, each a command in the directory of its
// name under examples/pizza/lambda: the build tool builds them, and the tests
// build and check every one.
var Functions = []string{"create-order", "cancel-order", "list-orders", "migrate"}
