import { describe, expect, it } from "vitest";
import { parseStream } from "./stream";

describe("streamed answers", () => {
  it("collects every message of the stream", () => {
    expect(parseStream<{ n: number }>('{"result":{"n":1}}\n{"result":{"n":2}}\n')).toEqual([{ n: 1 }, { n: 2 }]);
  });
  it("fails with the status a broken stream ends with, not a partial file", () => {
    expect(() => parseStream('{"result":{"n":1}}\n{"error":{"code":4,"message":"deadline exceeded"}}\n')).toThrow("deadline exceeded");
  });
});
