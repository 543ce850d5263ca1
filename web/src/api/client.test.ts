import { describe, expect, it } from "vitest";
import { toApiError } from "./client";

describe("API errors", () => {
  it("reads the reason and the fields a google.rpc.Status names", () => {
    const e = toApiError(400, {
      code: 3,
      message: "invalid customer",
      details: [
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "INVALID_ARGUMENT" },
        { "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field: "customer.emails[0]", description: "is not an e-mail address" }] },
      ],
    });
    expect(e.message).toBe("invalid customer");
    expect(e.reason).toBe("INVALID_ARGUMENT");
    expect(e.violations).toEqual([{ field: "customer.emails[0]", description: "is not an e-mail address" }]);
    expect(e.conflict).toBe(false);
  });
  it("knows an etag conflict", () => {
    expect(toApiError(409, { message: "etag mismatch" }).conflict).toBe(true);
    expect(toApiError(502, "bad gateway").message).toBe("HTTP 502");
  });
});
