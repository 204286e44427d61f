/**
 * Adds a measuring middleware to an AWS SDK v3 client: the one attach pattern the
 * metrics recorders share (RequestCounter, CapacityRecorder).
 */

/** Any AWS SDK v3 client, or a `DynamoDBDocumentClient`: all have a middleware stack. */
export interface SdkClient {
  readonly middlewareStack: { add: (middleware: never, options: never) => void };
}

/**
 * What a measuring middleware sees of a request. `input` is the command's input: as the
 * caller wrote it at the `initialize` step; from `build` on, after the document client
 * has marshalled it (`DocumentMarshall` runs in `serialize`), as DynamoDB receives it.
 * Other fields (the HTTP request from `build` on) must be passed on untouched.
 */
export interface RequestArgs {
  readonly input: Record<string, unknown>;
  readonly [field: string]: unknown;
}

/** What a request resolves to: the deserialized `output` (plus the HTTP response). */
export interface RequestResult {
  readonly output: unknown;
}

/** The rest of the middleware chain. */
export type RequestHandler = (args: RequestArgs) => Promise<RequestResult>;

/** A middleware factory: gets the rest of the chain and the operation name (`"PutItem"`). */
export type MeasuringMiddleware = (next: RequestHandler, operation: string) => RequestHandler;

/**
 * Where a middleware runs. `initialize` runs once per `send`, before anything else (the
 * place to change the input); `build` runs once per `send` after serialization and
 * outside the retry loop, so it sees the marshalled input and the final outcome.
 */
export type MiddlewareStep = "initialize" | "build";

/**
 * Adds `middleware` to `client`'s stack under `name` (names must be unique per stack).
 * A document client shares its base client's stack: attach to one of the two, not both.
 */
export function addMiddleware(
  client: SdkClient,
  step: MiddlewareStep,
  name: string,
  middleware: MeasuringMiddleware,
): void {
  const stack = client.middlewareStack as unknown as {
    add: (
      factory: (next: RequestHandler, context: { commandName?: string }) => RequestHandler,
      options: object,
    ) => void;
  };
  stack.add((next, context) => middleware(next, operationName(context.commandName)), { step, name });
}

/** `"PutItemCommand"` → `"PutItem"`; `"?"` when the SDK gives no command name. */
function operationName(commandName: string | undefined): string {
  return commandName?.replace(/Command$/, "") ?? "?";
}
