// Turns the desired state (rendered container specs) into the containers the docker target manages.
import { InvalidInputError } from "../../errors.js";
import type { DesiredObject, DesiredState } from "../../model.js";
import {
  containerSpecsOf,
  specHash,
  specText,
  stopFirstReason,
  type ContainerSpec,
} from "./container-spec.js";
import { refuseLockName } from "../lock-names.js";
import { subjectOf } from "./marker.js";
import { parseRenderedSpec, type RenderedSpec } from "./spec.js";
import { checkHostPorts, checkSpecRules } from "./spec-rules.js";

/** A docker DesiredObject's `spec` is the resolved ContainerSpec. */
export type DesiredContainer = DesiredObject & { spec: ContainerSpec };

/**
 * Each rendered file's container specs; throws InvalidInputError for a file docker cannot take. The checking
 * half of dockerDesiredObjects, which validate, render, bump and build run without building plan texts.
 */
export function dockerContainerSpecs(
  state: DesiredState,
): { rendered: RenderedSpec; specs: ContainerSpec[] }[] {
  const parsed = state.files.map((file) => {
    if (!file.path.endsWith(".yaml")) {
      throw new InvalidInputError(
        `${file.path} is not a docker container spec: this branch's rendered files were made for another ` +
          `target kind. Render the branch for docker (environment target kind: docker) and rebuild.`,
      );
    }
    const rendered = parseRenderedSpec(file.content, file.path);
    if (rendered.service !== file.service) {
      throw new InvalidInputError(
        `${file.path}: names service '${rendered.service}' but belongs to '${file.service}'; re-render it.`,
      );
    }
    checkSpecRules(rendered, file.path);
    const specs = containerSpecsOf(state.system, rendered, file.path);
    for (const spec of specs) refuseLockName(spec.name, "container name", state.system, spec.service);
    return { rendered, specs, file: file.path };
  });
  checkHostPorts(parsed.map(({ rendered, file }) => ({ file, spec: rendered })));
  return parsed.map(({ rendered, specs }) => ({ rendered, specs }));
}

export function dockerDesiredObjects(state: DesiredState): DesiredContainer[] {
  const objects: DesiredContainer[] = [];
  for (const { rendered, specs } of dockerContainerSpecs(state)) {
    for (const spec of specs) {
      const object: DesiredContainer = {
        subject: subjectOf(spec.name),
        name: spec.name,
        service: spec.service,
        text: specText(spec),
        hash: specHash(spec),
        dependsOn: rendered.dependsOn,
        spec,
      };
      const stopFirst = stopFirstReason(spec);
      if (stopFirst !== undefined) object.updateNotes = [stopFirst];
      if (spec.instance !== undefined) {
        object.rollGroup = spec.service;
        object.rollIndex = spec.instance;
      }
      objects.push(object);
    }
  }
  return objects.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function isContainerSpec(spec: unknown): spec is ContainerSpec {
  return typeof spec === "object" && spec !== null && "name" in spec && "image" in spec && "env" in spec;
}
