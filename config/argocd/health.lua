-- Argo CD health check for cutover.dev/v1alpha1 Rollout.
--
-- Healthy      phase Healthy, Ready=True, and the status describes the current generation
-- Progressing  a revision is moving through its steps (a timed pause too: it ends by itself),
--              or the controller has not yet observed the current spec
-- Suspended    phase Paused: waiting at a pause {} or for a blue-green promote, or held by
--              spec.paused; a person has to act
-- Degraded     phase Aborted or Degraded (Stalled=True)
--
-- It uses only Lua's base library, so it runs without resource.customizations.useOpenLibs.
-- The same script is embedded in config/argocd/argocd-cm.yaml; a test keeps the two equal.

local hs = {}

local function result(status, message)
  hs.status = status
  hs.message = message
  return hs
end

local function condition(ctype)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

-- firstMessage returns the message of the first of these conditions that has one, else the
-- status message, else fallback.
local function firstMessage(types, fallback)
  for _, t in ipairs(types) do
    local c = condition(t)
    if c ~= nil and c.message ~= nil and c.message ~= "" then
      return c.message
    end
  end
  if obj.status.message ~= nil and obj.status.message ~= "" then
    return obj.status.message
  end
  return fallback
end

local function run()
  if obj.status == nil or obj.status.observedGeneration == nil or obj.status.observedGeneration < 0 then
    return result("Progressing", "Waiting for the Cutover controller to observe the rollout")
  end

  local generation = obj.metadata.generation
  local observed = obj.status.observedGeneration
  if generation ~= nil and observed < generation then
    local msg = "Waiting for the Cutover controller to observe generation " .. tostring(generation) ..
      " (status is of generation " .. tostring(observed) .. ")"
    -- A reconcile that failed still writes Ready for the generation it read, with the error.
    local ready = condition("Ready")
    if ready ~= nil and ready.observedGeneration == generation and ready.message ~= nil and ready.message ~= "" then
      msg = msg .. ": " .. ready.message
    end
    return result("Progressing", msg)
  end

  local phase = obj.status.phase
  if phase == "Aborted" or phase == "Degraded" then
    return result("Degraded", firstMessage({"Stalled", "Ready"}, "Rollout is " .. phase))
  end
  if phase == "Paused" then
    return result("Suspended", firstMessage({"Reconciling", "Ready"}, "Rollout is paused"))
  end
  if phase == "Healthy" then
    local ready = condition("Ready")
    if ready ~= nil and ready.status == "True" then
      return result("Healthy", firstMessage({"Ready"}, "Rollout is healthy"))
    end
  end
  return result("Progressing", firstMessage({"Reconciling", "Ready"}, "Rollout is progressing"))
end

return run()
