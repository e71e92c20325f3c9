// A runner fixture that exports no service.
export const somethingElse = 1;
