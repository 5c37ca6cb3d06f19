// Drives the emulator with Microsoft's Node client (azure-devops-node-api), as a script would.
// Usage: node official_sdk.mjs SDK_FOLDER; BASE and TOKEN come from the environment.
// Prints one JSON object with what each call returned.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const azdev = require(`${process.argv[2]}/node_modules/azure-devops-node-api`);
const GitInterfaces = require(
  `${process.argv[2]}/node_modules/azure-devops-node-api/interfaces/GitInterfaces`,
);

const connection = new azdev.WebApi(
  process.env.BASE,
  azdev.getPersonalAccessTokenHandler(process.env.TOKEN),
);
try {
  const core = await connection.getCoreApi();
  const git = await connection.getGitApi();
  const projects = await core.getProjects();
  const repositories = await git.getRepositories("Payments");
  // getItem(repository, path, project, scopePath, recursionLevel, includeContentMetadata,
  //         latestProcessedChange, download, versionDescriptor, includeContent)
  const item = await git.getItem(
    "payments-api", "/src/app.py", "Payments", undefined, undefined, false, true, false,
    { version: "main", versionType: GitInterfaces.GitVersionType.Branch }, true,
  );
  const everything = await git.getItems(
    "payments-api", "Payments", "/", GitInterfaces.VersionControlRecursionType.Full,
  );
  const teams = await core.getTeams(projects[0].id);
  const active = await git.getPullRequests(
    "payments-api", { status: GitInterfaces.PullRequestStatus.Active }, "Payments",
  );
  console.log(JSON.stringify({
    projects: projects.map((p) => p.name),
    repositories: repositories.map((r) => r.name),
    content: item.content,
    commitId: item.commitId,
    latestProcessedChange: item.latestProcessedChange.commitId,
    paths: everything.map((i) => i.path),
    teams: teams.map((t) => t.name),
    activePullRequests: active.length,
  }));
} catch (error) {
  console.error(`${error.constructor.name}: ${error.message} (status ${error.statusCode})`);
  process.exit(1);
}
