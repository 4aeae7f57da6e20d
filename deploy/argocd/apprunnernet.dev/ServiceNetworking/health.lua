-- Argo CD health check for apprunnernet.dev/ServiceNetworking.
--
-- The kind follows the kstatus conventions (sigs.k8s.io/cli-utils/pkg/kstatus): status.observedGeneration,
-- and the conditions Ready (True when AWS matches the spec), Reconciling and Stalled (True when so, absent
-- otherwise), each carrying the generation it was computed from. The first rule that applies decides:
--   no status yet                                -> Progressing (the operator has not seen the object)
--   status older than metadata.generation        -> Progressing (it describes an earlier spec)
--   Stalled=True                                 -> Degraded, with its message (a human must act)
--   being deleted                                -> Progressing, with DeletionBlocked's message when True
--   Ready=True                                   -> Healthy, with its message
--   Reconciling=True                             -> Progressing, with its message
--   otherwise                                    -> Progressing, with Ready's message when there is one
-- Argo CD itself reports an object being deleted as Progressing "Pending deletion" without running its
-- health script (gitops-engine's GetResourceHealth); the deletion rule serves anything that runs the script
-- directly, and Argo CD should it ever hand such objects over. Only the base library is used: Argo CD runs
-- health scripts without the string, math and io libraries.

local function condition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

local function health(status, c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return { status = status, message = c.message }
  end
  return { status = status, message = fallback }
end

local metadata = obj.metadata or {}
if obj.status == nil then
  return { status = "Progressing", message = "Waiting for the operator to report status." }
end

local ready = condition("Ready")
local generation = metadata.generation
if generation ~= nil then
  local observed = obj.status.observedGeneration
  -- The operator writes both in one update; should they ever differ, the older one counts.
  if ready ~= nil and ready.observedGeneration ~= nil and (observed == nil or ready.observedGeneration < observed) then
    observed = ready.observedGeneration
  end
  if observed ~= nil and observed < generation then
    return {
      status = "Progressing",
      message = "Waiting for the operator to observe generation " .. generation
        .. "; status describes generation " .. observed .. ".",
    }
  end
end

local stalled = condition("Stalled")
if isTrue(stalled) then
  return health("Degraded", stalled, "Stalled.")
end

if metadata.deletionTimestamp ~= nil then
  local blocked = condition("DeletionBlocked")
  if isTrue(blocked) then
    return health("Progressing", blocked, "Deletion is blocked.")
  end
  return health("Progressing", condition("Reconciling"), "Being deleted.")
end

if isTrue(ready) then
  return health("Healthy", ready, "Ready.")
end

local reconciling = condition("Reconciling")
if isTrue(reconciling) then
  return health("Progressing", reconciling, "Reconciling.")
end

return health("Progressing", ready, "Waiting for the operator to report Ready.")
