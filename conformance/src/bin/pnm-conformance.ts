#!/usr/bin/env node
// pnm-conformance: the harness's command line (README.md, "Command line").
import { main } from "../cli.js";

process.exitCode = await main(process.argv.slice(2));
