import { JobApp } from "sluice-jobs";

export const app = new JobApp();

export const resize = app
  .addJob("Resize", async ({ width }: { width: number }, ctx) => {
    ctx.logger.info(`resizing to ${width / 2}`);
    return { width: width / 2 };
  })
  .withRetry(2)
  .withTimeout("30s");
