#!/usr/bin/env node
// The harness ships as TypeScript sources; tsx compiles them on load, so
// there is no build step to forget before running it.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli.ts");
process.exitCode = await main(process.argv.slice(2));
