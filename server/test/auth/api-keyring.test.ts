import { describe, expect, it } from "vitest";
import { ApiKeyPairsError, checkApiKeyPairs, createApiKeyring } from "../../src/auth/api-keyring.js";

const secret = (tag: string) => `${tag}-${"s".repeat(32)}`;

describe("the API keyring", () => {
  it("selects the secret by key, and names the last pair the newest", () => {
    const keys = createApiKeyring([
      { key: "a", secret: secret("a") },
      { key: "b", secret: secret("b") },
    ]);
    expect(keys.lookup("a")?.key).toBe("a");
    expect(keys.lookup("b")?.key).toBe("b");
    expect(keys.lookup("c")).toBeUndefined();
    expect(keys.lookup("")).toBeUndefined();
    expect(keys.lookup("A")).toBeUndefined();
    expect(keys.newest().key).toBe("b");
    expect(keys.all().map((k) => k.key)).toEqual(["a", "b"]);
  });

  it("swaps the whole set on replace", () => {
    const keys = createApiKeyring([{ key: "a", secret: secret("a") }]);
    keys.replace([{ key: "b", secret: secret("b") }]);
    expect(keys.lookup("a")).toBeUndefined();
    expect(keys.newest().key).toBe("b");
  });

  it("refuses an empty set and a key listed twice, and keeps the active set then", () => {
    const keys = createApiKeyring([{ key: "a", secret: secret("a") }]);
    expect(() => keys.replace([])).toThrow(ApiKeyPairsError);
    expect(() =>
      keys.replace([
        { key: "b", secret: secret("1") },
        { key: "b", secret: secret("2") },
      ]),
    ).toThrow(/listed twice/);
    expect(keys.lookup("a")?.key).toBe("a");
  });
});

describe("the policy for configured pairs", () => {
  it.each([
    ["a secret under 32 bytes", [{ key: "a", secret: "short" }], /at least 32 bytes/],
    [
      "upstream's published sample secret",
      [{ key: "plugnmeet", secret: "zumyyYWqv7KR2kUqvYdq4z4sXg7XTBD2ljT6" }],
      /published sample secret/,
    ],
    ["an empty key", [{ key: "", secret: secret("a") }], /non-empty/],
  ])("refuses %s", (_name, pairs, message) => {
    expect(() => checkApiKeyPairs(pairs)).toThrow(message);
  });

  it("accepts distinct keys with strong secrets", () => {
    expect(() =>
      checkApiKeyPairs([
        { key: "a", secret: secret("a") },
        { key: "b", secret: secret("b") },
      ]),
    ).not.toThrow();
  });
});
