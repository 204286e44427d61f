/**
 * Imported first by this repository's programs (`npm start`, the demo): turns off the AWS
 * SDK's notice that its releases after January 2027 need Node 22, with the SDK's own
 * switch, unless the environment sets it. The library itself never changes the environment.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
