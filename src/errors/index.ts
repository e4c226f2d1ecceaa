// The errors leaf: the base error, its wire form, and the shared message formatters.
export { SprigError, type WireError, fromWire, toWire } from "./sprig-error.ts";
export { type FormatIssuesOptions, formatIssues, issueList, listProblems } from "./format.ts";
