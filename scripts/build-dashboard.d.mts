// Types for scripts/build-dashboard.mjs (plain JavaScript), for the TypeScript that imports it.
export declare const DASHBOARD_DIR: string;
export declare const DASHBOARD_DIST: string;
/** Why dashboard/dist must be (re)built, or undefined when it is current. */
export declare function dashboardStaleReason(): string | undefined;
/** Bundles the dashboard with Vite into dashboard/dist; rejects when the build fails. */
export declare function buildDashboard(options?: { logLevel?: 'info' | 'warn' | 'error' | 'silent' }): Promise<void>;
/** Builds when dashboard/dist is missing or stale. */
export declare function ensureDashboardBuilt(): Promise<void>;
