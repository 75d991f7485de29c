// Counts the exported declarations of each package's sources that have no
// TSDoc comment (`/** … */` directly before them), with the TypeScript
// compiler API.
//
// Counted: every exported function, class, interface, type alias, enum,
// namespace and variable (each declarator of an `export const`), whether
// exported in place or by a local `export { name }`; and the public members
// of exported interfaces, classes and object-literal type aliases (properties,
// methods, accessors, call and construct signatures). Not counted: re-exports
// (`export … from`), which are documented where they are declared; private,
// protected and `#private` members; constructors, which the class's comment
// covers; `override` members, which inherit the comment of what they
// override. Overloads and get/set pairs count once, documented when any of
// their declarations is.
//
// Usage: node --import tsx scripts/count-undocumented.ts [--list] [dir …]
// (default dirs: client/src server/src conformance/src; protocol/src is
// generated and not counted, nor is any file whose header comment says
// `@generated`). Prints `dir: undocumented/total (x%)` per
// directory, and with --list every undocumented declaration as file:line.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

/** An exported declaration without a TSDoc comment. */
export interface Undocumented {
  /** Path relative to the directory that was counted. */
  file: string;
  /** 1-based line of the declaration. */
  line: number;
  /** `name`, or `Owner.member` for a member of an exported interface, class or type. */
  name: string;
}

/** What `countUndocumented` found under one directory. */
export interface DocCount {
  /** Exported declarations and public members counted. */
  total: number;
  /** Those of them without a TSDoc comment, in file and line order. */
  undocumented: Undocumented[];
}

/** The packages counted when no directory is named; `protocol/src` is generated code. */
export const defaultPackages = ["client/src", "server/src", "conformance/src"];

/**
 * Counts the exported declarations in every `.ts` file under `dir` (skipping
 * `.d.ts` files, node_modules and generated files) and lists those without a
 * TSDoc comment.
 */
export function countUndocumented(dir: string): DocCount {
  const count: DocCount = { total: 0, undocumented: [] };
  for (const path of tsFilesUnder(dir)) {
    const text = readIfPresent(path);
    // Moved or deleted since the directory was listed.
    if (text === undefined || isGenerated(text)) continue;
    const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    for (const item of exportedItems(source)) {
      count.total++;
      if (!item.declarations.some((node) => hasDocComment(node, text))) {
        const line = source.getLineAndCharacterOfPosition(item.declarations[0]!.getStart(source)).line + 1;
        count.undocumented.push({ file: relative(dir, path), line, name: item.name });
      }
    }
  }
  return count;
}

/** `undocumented/total (x%)`, the percentage rounded to a whole number. */
export function formatCount(undocumented: number, total: number): string {
  const percent = total === 0 ? 0 : Math.round((undocumented / total) * 100);
  return `${undocumented}/${total} (${percent}%)`;
}

interface Item {
  name: string;
  /** Every declaration of the name: overloads, get/set pairs, or just one. */
  declarations: ts.Node[];
}

function tsFilesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && !entry.name.startsWith(".")) files.push(...tsFilesUnder(path));
    } else if (/\.(m|c)?ts$/.test(entry.name) && !/\.d\.(m|c)?ts$/.test(entry.name)) {
      files.push(path);
    }
  }
  return files;
}

/** Code generators (protoc-gen-es and the like) mark their output `@generated` in its header comment. */
function isGenerated(text: string): boolean {
  const header = text.slice(0, ts.getLeadingCommentRanges(text, 0)?.at(-1)?.end ?? 0);
  return /@generated\b/.test(header);
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function exportedItems(source: ts.SourceFile): Item[] {
  // Names exported by a local `export { a, b as c }` (no module specifier).
  const exportedByList = new Set<string>();
  for (const statement of source.statements) {
    if (
      ts.isExportDeclaration(statement) &&
      !statement.moduleSpecifier &&
      statement.exportClause &&
      ts.isNamedExports(statement.exportClause)
    ) {
      for (const element of statement.exportClause.elements)
        exportedByList.add((element.propertyName ?? element.name).text);
    }
  }

  const items = new Map<string, Item>();
  const add = (name: string, node: ts.Node) => {
    const item = items.get(name);
    if (item) item.declarations.push(node);
    else items.set(name, { name, declarations: [node] });
  };

  for (const statement of source.statements) {
    if (ts.isVariableStatement(statement)) {
      const exportedHere = hasModifier(statement, ts.SyntaxKind.ExportKeyword);
      for (const declaration of statement.declarationList.declarations) {
        if (!ts.isIdentifier(declaration.name)) continue;
        // The comment of `export const a = …` sits on the statement.
        if (exportedHere || exportedByList.has(declaration.name.text)) add(declaration.name.text, statement);
      }
      continue;
    }
    if (
      !ts.isFunctionDeclaration(statement) &&
      !ts.isClassDeclaration(statement) &&
      !ts.isInterfaceDeclaration(statement) &&
      !ts.isTypeAliasDeclaration(statement) &&
      !ts.isEnumDeclaration(statement) &&
      !ts.isModuleDeclaration(statement)
    ) {
      continue;
    }
    const isDefault = hasModifier(statement, ts.SyntaxKind.DefaultKeyword);
    const name =
      statement.name && ts.isIdentifier(statement.name) ? statement.name.text : isDefault ? "default" : undefined;
    if (name === undefined) continue;
    if (!hasModifier(statement, ts.SyntaxKind.ExportKeyword) && !exportedByList.has(name)) continue;
    add(name, statement);
    for (const member of publicMembers(statement)) add(`${name}.${member.name}`, member.node);
  }
  return [...items.values()];
}

function publicMembers(declaration: ts.Statement): { name: string; node: ts.Node }[] {
  let members: readonly (ts.TypeElement | ts.ClassElement)[] = [];
  if (ts.isInterfaceDeclaration(declaration)) members = declaration.members;
  else if (ts.isClassDeclaration(declaration)) members = declaration.members;
  else if (ts.isTypeAliasDeclaration(declaration) && ts.isTypeLiteralNode(declaration.type))
    members = declaration.type.members;

  const found: { name: string; node: ts.Node }[] = [];
  for (const member of members) {
    if (
      ts.isConstructorDeclaration(member) ||
      ts.isClassStaticBlockDeclaration(member) ||
      ts.isSemicolonClassElement(member)
    )
      continue;
    if (ts.isIndexSignatureDeclaration(member)) continue;
    if (
      hasModifier(member, ts.SyntaxKind.PrivateKeyword) ||
      hasModifier(member, ts.SyntaxKind.ProtectedKeyword) ||
      hasModifier(member, ts.SyntaxKind.OverrideKeyword)
    ) {
      continue;
    }
    if (member.name && ts.isPrivateIdentifier(member.name)) continue;
    const name = ts.isCallSignatureDeclaration(member)
      ? "(call)"
      : ts.isConstructSignatureDeclaration(member)
        ? "(new)"
        : member.name &&
            (ts.isIdentifier(member.name) || ts.isStringLiteral(member.name) || ts.isNumericLiteral(member.name))
          ? member.name.text
          : member.name?.getText();
    if (name !== undefined) found.push({ name, node: member });
  }
  // Constructor parameter properties (`constructor(readonly x: T)`) are public members too.
  if (ts.isClassDeclaration(declaration)) {
    for (const member of declaration.members) {
      if (!ts.isConstructorDeclaration(member)) continue;
      for (const parameter of member.parameters) {
        if (!ts.isParameterPropertyDeclaration(parameter, member) || !ts.isIdentifier(parameter.name)) continue;
        if (
          hasModifier(parameter, ts.SyntaxKind.PrivateKeyword) ||
          hasModifier(parameter, ts.SyntaxKind.ProtectedKeyword)
        )
          continue;
        found.push({ name: parameter.name.text, node: parameter });
      }
    }
  }
  return found;
}

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

/** Whether the last `/** … *\/` among the comments right before `node` says something. */
function hasDocComment(node: ts.Node, text: string): boolean {
  const docs = (ts.getLeadingCommentRanges(text, node.pos) ?? []).filter(
    (range) =>
      range.kind === ts.SyntaxKind.MultiLineCommentTrivia &&
      text.startsWith("/**", range.pos) &&
      !text.startsWith("/**/", range.pos),
  );
  const last = docs.at(-1);
  if (!last) return false;
  const body = text.slice(last.pos + 3, last.end - 2).replace(/^\s*\*/gm, "");
  return body.trim().length > 0;
}

function main(args: string[]): void {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const list = args.includes("--list");
  const dirs = args.filter((a) => a !== "--list");
  let total = 0;
  let undocumented = 0;
  for (const dir of dirs.length > 0 ? dirs : defaultPackages) {
    const count = countUndocumented(resolve(root, dir));
    total += count.total;
    undocumented += count.undocumented.length;
    console.log(`${dir}: ${formatCount(count.undocumented.length, count.total)}`);
    if (list) for (const u of count.undocumented) console.log(`  ${join(dir, u.file)}:${u.line} ${u.name}`);
  }
  if (dirs.length !== 1) console.log(`all: ${formatCount(undocumented, total)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main(process.argv.slice(2));
