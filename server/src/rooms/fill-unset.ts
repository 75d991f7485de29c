import { clone, type DescMessage, type MessageShape } from "@bufbuild/protobuf";

/**
 * Copies each default into `target` where the target's field is unset, and
 * recurses into message fields set on both sides. Unlike a proto merge, an
 * explicit false or 0 in the target is kept: only absence takes a default.
 */
export function fillUnset<Desc extends DescMessage>(
  schema: Desc,
  target: MessageShape<Desc>,
  defaults: MessageShape<Desc>,
): void {
  const t = target as unknown as Record<string, unknown>;
  const d = defaults as unknown as Record<string, unknown>;
  for (const field of schema.fields) {
    const name = field.localName;
    if (d[name] === undefined) continue;
    if (field.fieldKind === "message") {
      if (t[name] === undefined) {
        t[name] = clone(field.message, d[name] as MessageShape<DescMessage>);
      } else {
        fillUnset(field.message, t[name] as MessageShape<DescMessage>, d[name] as MessageShape<DescMessage>);
      }
    } else if ((field.fieldKind === "scalar" || field.fieldKind === "enum") && t[name] === undefined) {
      t[name] = d[name];
    }
  }
}
