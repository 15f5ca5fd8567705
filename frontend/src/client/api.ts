/** A small typed HTTP client for the StoryStream API (bodies typed from the OpenAPI schema). */
import type {
  ChildCreate,
  ChildRead,
  ChildUpdate,
  DeviceTokenRead,
  RunCreated,
  RunRead,
  Schemas,
  SeriesDetail,
  StoryParams,
  StoryRead,
  StreamTicket,
  ThemeRead,
  TokenPair,
} from "./types";

export const API_PREFIX = "/api/v1";

export interface FieldError {
  loc: (string | number)[];
  msg: string;
}

/** A non-2xx answer: `status`, the service's `detail`, and per-field errors for a 422. */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  readonly fieldErrors: FieldError[];
  readonly retryAfterSeconds: number | null;

  constructor(status: number, detail: string, fieldErrors: FieldError[], retryAfter: number | null) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.fieldErrors = fieldErrors;
    this.retryAfterSeconds = retryAfter;
  }

  /** The message for one field of the request body, e.g. `errorFor("name")`. */
  errorFor(field: string): string | undefined {
    return this.fieldErrors.find((error) => error.loc.includes(field))?.msg;
  }
}

export interface ApiOptions {
  /** Where the service is; empty for the same origin (the built app and `npm run dev`). */
  baseUrl?: string;
  /** The bearer token to send: a parent's access token or a child's device token. */
  token: () => string | null;
  /** Called once on a 401; resolves true when a new token is available and the call may retry. */
  refresh?: () => Promise<boolean>;
  fetch?: typeof fetch;
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export class Api {
  readonly baseUrl: string;
  private readonly options: ApiOptions;

  constructor(options: ApiOptions) {
    this.options = options;
    this.baseUrl = options.baseUrl ?? "";
  }

  async request<T>(method: Method, path: string, body?: unknown, retried = false): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    let token = this.options.token();
    // No access token yet (a reload keeps only the refresh token): refresh first, not after a 401.
    if (!token && !retried && this.options.refresh && (await this.options.refresh())) {
      token = this.options.token();
      retried = true;
    }
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const doFetch = this.options.fetch ?? globalThis.fetch.bind(globalThis);
    const response = await doFetch(`${this.baseUrl}${API_PREFIX}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401 && !retried && this.options.refresh && (await this.options.refresh())) {
      return this.request<T>(method, path, body, true);
    }
    if (!response.ok) throw await apiError(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  // --- accounts
  register(email: string, password: string): Promise<Schemas["RegistrationAccepted"]> {
    return this.request("POST", "/auth/register", { email, password }, true);
  }
  login(email: string, password: string): Promise<TokenPair> {
    return this.request("POST", "/auth/login", { email, password }, true);
  }
  refreshTokens(refreshToken: string): Promise<TokenPair> {
    return this.request("POST", "/auth/refresh", { refresh_token: refreshToken }, true);
  }
  logout(refreshToken: string): Promise<void> {
    return this.request("POST", "/auth/logout", { refresh_token: refreshToken }, true);
  }
  me(): Promise<Schemas["ParentRead"]> {
    return this.request("GET", "/auth/me");
  }

  // --- children, themes, devices
  listChildren(): Promise<ChildRead[]> {
    return this.request("GET", "/children");
  }
  readChild(childId: number): Promise<ChildRead> {
    return this.request("GET", `/children/${childId}`);
  }
  createChild(body: ChildCreate): Promise<ChildRead> {
    return this.request("POST", "/children", body);
  }
  updateChild(childId: number, body: ChildUpdate): Promise<ChildRead> {
    return this.request("PATCH", `/children/${childId}`, body);
  }
  deleteChild(childId: number): Promise<void> {
    return this.request("DELETE", `/children/${childId}`);
  }
  listThemes(age?: number): Promise<ThemeRead[]> {
    return this.request("GET", age === undefined ? "/themes" : `/themes?age=${age}`);
  }
  createCustomTheme(body: Schemas["CustomThemeCreate"]): Promise<ThemeRead> {
    return this.request("POST", "/themes/custom", body);
  }
  allowedThemes(childId: number): Promise<Schemas["AllowedThemes"]> {
    return this.request("GET", `/children/${childId}/themes`);
  }
  setAllowedThemes(childId: number, themeIds: string[]): Promise<Schemas["AllowedThemes"]> {
    return this.request("PUT", `/children/${childId}/themes`, { theme_ids: themeIds });
  }
  listDevices(childId: number): Promise<DeviceTokenRead[]> {
    return this.request("GET", `/children/${childId}/device-tokens`);
  }
  revokeDevice(childId: number, deviceId: string): Promise<void> {
    return this.request("DELETE", `/children/${childId}/device-tokens/${deviceId}`);
  }

  createPairingCode(childId: number): Promise<Schemas["PairingCodeCreated"]> {
    return this.request("POST", `/children/${childId}/pairing-codes`);
  }
  claimPairingCode(code: string, label: string): Promise<Schemas["PairingClaimed"]> {
    return this.request("POST", "/pairing/claim", { code, label }, true);
  }
  listRuns(childId: number, active = false): Promise<Schemas["RunSummary"][]> {
    return this.request("GET", `/children/${childId}/runs${active ? "?active=true" : ""}`);
  }

  // --- library
  listSeries(childId: number): Promise<Schemas["Page_SeriesRead_"]> {
    return this.request("GET", `/children/${childId}/series?limit=100`);
  }
  readSeries(seriesId: number): Promise<SeriesDetail> {
    return this.request("GET", `/series/${seriesId}`);
  }
  listStories(childId: number, favourites = false): Promise<Schemas["Page_StorySummary_"]> {
    return this.request("GET", `/children/${childId}/stories?limit=100${favourites ? "&favourites=true" : ""}`);
  }
  chooseNext(storyId: number, choice: number): Promise<StoryRead> {
    return this.request("POST", `/stories/${storyId}/choice`, { choice });
  }
  readStory(storyId: number): Promise<StoryRead> {
    return this.request("GET", `/stories/${storyId}`);
  }
  markRead(storyId: number): Promise<StoryRead> {
    return this.request("POST", `/stories/${storyId}/read`);
  }
  setFavourite(storyId: number, favourite: boolean): Promise<StoryRead> {
    return this.request("PUT", `/stories/${storyId}/favourite`, { favourite });
  }

  // --- runs and streams
  createRun(body: StoryParams): Promise<RunCreated> {
    return this.request("POST", "/runs", body);
  }
  readRun(runId: string): Promise<RunRead> {
    return this.request("GET", `/runs/${runId}`);
  }
  cancelRun(runId: string): Promise<Schemas["RunCancelled"]> {
    return this.request("POST", `/runs/${runId}/cancel`);
  }
  runTicket(runId: string): Promise<StreamTicket> {
    return this.request("POST", "/stream-tickets", { run_id: runId });
  }
}

async function apiError(response: Response): Promise<ApiError> {
  let detail = `${response.status} ${response.statusText}`;
  let fieldErrors: FieldError[] = [];
  try {
    const body = (await response.json()) as { detail?: unknown; errors?: FieldError[] };
    if (typeof body.detail === "string") detail = body.detail;
    if (Array.isArray(body.errors)) fieldErrors = body.errors;
  } catch {
    // not JSON: keep the status line
  }
  const retryAfter = Number(response.headers.get("Retry-After"));
  return new ApiError(response.status, detail, fieldErrors, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null);
}
