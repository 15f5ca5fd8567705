/** Named aliases over the generated OpenAPI types (schema.ts); nothing here is written by hand. */
import type { components } from "./schema";

export type Schemas = components["schemas"];

export type WireEvent = Schemas["WireEvent"];
export type NodeEvent = Schemas["NodeEvent"];
export type ContentEvent = Schemas["ContentEvent"];
export type ResetEvent = Schemas["ResetEvent"];
export type SafetyEvent = Schemas["SafetyEvent"];
export type MetadataEvent = Schemas["MetadataEvent"];
export type CompleteEvent = Schemas["CompleteEvent"];
export type ErrorEvent = Schemas["ErrorEvent"];
export type CompletedStory = Schemas["CompletedStory"];
export type ErrorCode = ErrorEvent["error_code"];
export type WireEventType = WireEvent["type"];

export type StoryParams = Schemas["StoryParams"];
export type RunCreated = Schemas["RunCreated"];
export type RunRead = Schemas["RunRead"];
export type StreamTicket = Schemas["StreamTicket"];
export type TokenPair = Schemas["TokenPair"];
export type ChildRead = Schemas["ChildRead"];
export type ChildCreate = Schemas["ChildCreate"];
export type ChildUpdate = Schemas["ChildUpdate"];
export type ThemeRead = Schemas["ThemeRead"];
export type DeviceTokenRead = Schemas["DeviceTokenRead"];
export type SeriesRead = Schemas["SeriesRead"];
export type SeriesDetail = Schemas["SeriesDetail"];
export type StorySummary = Schemas["StorySummary"];
export type StoryRead = Schemas["StoryRead"];

/** Every event type of the wire contract; the stream listens for these and ignores others. */
export const WIRE_EVENT_TYPES: readonly WireEventType[] = [
  "node",
  "content",
  "reset",
  "safety",
  "metadata",
  "complete",
  "error",
];

export function isTerminal(event: WireEvent): event is CompleteEvent | ErrorEvent {
  return event.type === "complete" || event.type === "error";
}
