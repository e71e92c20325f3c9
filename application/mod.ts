/**
 * Services that start and stop as a unit, the Application root, internet services.
 *
 * @module
 */
export * from "./client_service.ts";
export * from "./http.ts";
export * from "./internet.ts";
export * from "./service.ts";
