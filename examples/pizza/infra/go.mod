// This directory is the CDK app (TypeScript). This file keeps it, and its
// node_modules, out of the storagefirst-go Go module.
module example.invalid/pizza-infra

go 1.25.0
